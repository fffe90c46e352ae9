package domain

// builtinTemplates are the texts every kind starts with; a saved template
// of the same kind, channel and locale replaces one.
var builtinTemplates = func() []Template {
	type text struct{ subject, body string }
	type texts struct{ zhEmail, zhSMS, enEmail, enSMS text }
	unsubZh := "\n\n退订：{{unsubscribe_url}}"
	unsubEn := "\n\nUnsubscribe: {{unsubscribe_url}}"
	src := map[string]texts{
		KindWelcome: {
			zhEmail: text{"欢迎加入", "{{name}}，您好！感谢您成为我们的客户。"},
			zhSMS:   text{"", "{{name}}，您好！感谢您成为我们的客户。"},
			enEmail: text{"Welcome", "Hello {{name}}, thank you for becoming our customer."},
			enSMS:   text{"", "Hello {{name}}, thank you for becoming our customer."},
		},
		KindBirthday: {
			zhEmail: text{"生日快乐", "{{name}}，祝您生日快乐！感谢您一直以来的支持。"},
			zhSMS:   text{"", "{{name}}，祝您生日快乐！"},
			enEmail: text{"Happy birthday", "Happy birthday, {{name}}! Thank you for being with us."},
			enSMS:   text{"", "Happy birthday, {{name}}!"},
		},
		KindHoliday: {
			zhEmail: text{"{{holiday_name}}快乐", "{{name}}，祝您{{holiday_name}}快乐，阖家幸福！"},
			zhSMS:   text{"", "{{name}}，祝您{{holiday_name}}快乐！"},
			enEmail: text{"Happy {{holiday_name}}", "Dear {{name}}, we wish you and your family a happy {{holiday_name}}."},
			enSMS:   text{"", "Happy {{holiday_name}}, {{name}}!"},
		},
		KindMemberDay: {
			zhEmail: text{"会员日：{{member_day_name}}", "{{name}}，今天是会员日（{{member_day_name}}），会员专享优惠等您来。" + unsubZh},
			zhSMS:   text{"", "{{name}}，今天是会员日，会员专享优惠等您来。退订：{{unsubscribe_url}}"},
			enEmail: text{"Member day: {{member_day_name}}", "Dear {{name}}, today is member day ({{member_day_name}}) with offers for members only." + unsubEn},
			enSMS:   text{"", "{{name}}, today is member day with offers for members. Stop: {{unsubscribe_url}}"},
		},
		KindTierChanged: {
			zhEmail: text{"会员等级更新：{{tier_name}}", "{{name}}，您的会员等级已更新为{{tier_name}}。"},
			zhSMS:   text{"", "{{name}}，您的会员等级已更新为{{tier_name}}。"},
			enEmail: text{"Your tier is now {{tier_name}}", "Dear {{name}}, your membership tier is now {{tier_name}}."},
			enSMS:   text{"", "{{name}}, your membership tier is now {{tier_name}}."},
		},
		KindPointsExpiring: {
			zhEmail: text{"积分即将到期", "{{name}}，您有{{points}}积分将于{{expire_date}}到期，当前可用积分{{points_balance}}。"},
			zhSMS:   text{"", "{{name}}，您有{{points}}积分将于{{expire_date}}到期。"},
			enEmail: text{"Points expiring soon", "Dear {{name}}, {{points}} of your points expire on {{expire_date}}; your balance is {{points_balance}}."},
			enSMS:   text{"", "{{name}}, {{points}} points expire on {{expire_date}}."},
		},
		KindCaseResolved: {
			zhEmail: text{"您的问题已解决（{{case_number}}）", "{{name}}，您的服务单{{case_number}}已解决：{{resolution}}"},
			zhSMS:   text{"", "{{name}}，您的服务单{{case_number}}已解决。"},
			enEmail: text{"Your case {{case_number}} is resolved", "Dear {{name}}, your case {{case_number}} is resolved: {{resolution}}"},
			enSMS:   text{"", "{{name}}, your case {{case_number}} is resolved."},
		},
		KindSurveyInvitation: {
			zhEmail: text{"请评价我们的服务", "{{name}}，请花一分钟评价服务单{{case_number}}的处理：{{survey_url}}"},
			zhSMS:   text{"", "请评价服务单{{case_number}}的处理：{{survey_url}}"},
			enEmail: text{"How did we do?", "Dear {{name}}, please tell us how we handled case {{case_number}}: {{survey_url}}"},
			enSMS:   text{"", "How did we handle case {{case_number}}? {{survey_url}}"},
		},
		KindWinBack: {
			zhEmail: text{"我们想念您", "{{name}}，好久不见！我们为您准备了专属回馈，期待您再次光临。" + unsubZh},
			zhSMS:   text{"", "{{name}}，好久不见！专属回馈等您来。退订：{{unsubscribe_url}}"},
			enEmail: text{"We miss you", "Dear {{name}}, it has been a while! We have a special offer waiting for you." + unsubEn},
			enSMS:   text{"", "{{name}}, we miss you! A special offer awaits. Stop: {{unsubscribe_url}}"},
		},
	}
	var out []Template
	for kind, t := range src {
		out = append(out,
			Template{Kind: kind, Channel: ChannelEmail, Locale: LocaleChinese, Subject: t.zhEmail.subject, Body: t.zhEmail.body},
			Template{Kind: kind, Channel: ChannelSMS, Locale: LocaleChinese, Body: t.zhSMS.body},
			Template{Kind: kind, Channel: ChannelEmail, Locale: LocaleEnglish, Subject: t.enEmail.subject, Body: t.enEmail.body},
			Template{Kind: kind, Channel: ChannelSMS, Locale: LocaleEnglish, Body: t.enSMS.body},
		)
	}
	out = append(out,
		Template{Kind: KindFollowupDue, Channel: ChannelWebhook, Locale: LocaleChinese, Subject: "回访到期",
			Body: "客户{{customer_name}}（ID {{customer_id}}）的回访（{{reason}}）将于{{due_time}}到期。{{note}}\n{{customer_url}}"},
		Template{Kind: KindFollowupDue, Channel: ChannelWebhook, Locale: LocaleEnglish, Subject: "Follow-up due",
			Body: "The follow-up of customer {{customer_name}} (id {{customer_id}}; {{reason}}) is due at {{due_time}}. {{note}}\n{{customer_url}}"},
		// {{why}} says in Chinese, the language agent notices are written
		// in, what {{cause}} ("sla_breach" or "manual"), {{target}},
		// {{escalated_by}} and {{reason}} say.
		Template{Kind: KindCaseEscalated, Channel: ChannelWebhook, Locale: LocaleChinese, Subject: "工单{{case_number}}已升级给您",
			Body: "工单{{case_number}}（{{case_subject}}，优先级{{priority}}）已升级给您：{{why}}。\n" +
				"客户{{customer_name}}（ID {{customer_id}}），处理人{{assignee_id}}，团队{{team_id}}。\n{{customer_url}}"},
		Template{Kind: KindCaseEscalated, Channel: ChannelWebhook, Locale: LocaleEnglish, Subject: "Case {{case_number}} escalated to you",
			Body: "Case {{case_number}} ({{case_subject}}, priority {{priority}}) was escalated to you ({{cause}} {{target}}{{escalated_by}}). {{reason}}\n" +
				"Customer {{customer_name}} (id {{customer_id}}), assignee {{assignee_id}}, team {{team_id}}.\n{{customer_url}}"},
	)
	return out
}()
