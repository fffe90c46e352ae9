module example.com/crm/services/beta // a comment

go 1.26.0
