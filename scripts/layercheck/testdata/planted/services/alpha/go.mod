module example.com/crm/services/alpha

go 1.26.0
