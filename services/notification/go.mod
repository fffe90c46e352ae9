module github.com/guanxi-crm/guanxi/services/notification

go 1.26
