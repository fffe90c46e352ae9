module github.com/guanxi-crm/guanxi/services/customer

go 1.26
