module github.com/guanxi-crm/guanxi/cmd/guanxi

go 1.26
