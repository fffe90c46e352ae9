module github.com/guanxi-crm/guanxi/services/interaction

go 1.26
