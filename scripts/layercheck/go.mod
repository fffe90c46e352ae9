module github.com/guanxi-crm/guanxi/scripts/layercheck

go 1.26.8
