module github.com/guanxi-crm/guanxi/services/loyalty

go 1.26
