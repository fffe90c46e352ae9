module github.com/guanxi-crm/guanxi/gateway

go 1.26
