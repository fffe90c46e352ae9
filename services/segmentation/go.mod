module github.com/guanxi-crm/guanxi/services/segmentation

go 1.26
