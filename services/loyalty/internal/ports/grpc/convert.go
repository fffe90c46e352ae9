package grpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/protoconv"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTimestamp(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC().Truncate(time.Microsecond)
}

func toProtoAccount(a app.Account) *loyaltyv1.LoyaltyAccount {
	m := a.Member
	status := loyaltyv1.MemberStatus_MEMBER_STATUS_ACTIVE
	if m.Status == domain.MemberMerged {
		status = loyaltyv1.MemberStatus_MEMBER_STATUS_MERGED
	}
	return &loyaltyv1.LoyaltyAccount{
		CustomerId:           m.CustomerID,
		PointsBalance:        a.Summary.Spendable(),
		LifetimePoints:       a.Summary.Lifetime,
		Tier:                 protoconv.ToProtoTier(a.Tier.Code),
		CreateTime:           timestamp(m.JoinTime),
		UpdateTime:           timestamp(m.UpdateTime),
		ProgramId:            m.ProgramID,
		MemberNumber:         m.Number,
		Status:               status,
		TierCode:             a.Tier.Code,
		TierName:             a.Tier.Name,
		PendingPoints:        a.Summary.Pending,
		ExpiringPoints:       a.ExpiringPoints,
		ExpiringTime:         timestamp(a.ExpiringTime),
		NextTierCode:         a.NextTier.Code,
		NextTierName:         a.NextTier.Name,
		PointsToNextTier:     a.PointsToNext,
		SpendToNextTierMinor: a.SpendToNext,
		WindowPoints:         a.Summary.WindowPoints,
		WindowSpendMinor:     a.Summary.WindowSpend,
		LedgerTotal:          a.Summary.Total,
		GraceUntil:           timestamp(m.GraceUntil),
	}
}

var entryKinds = map[domain.EntryKind]loyaltyv1.LedgerEntryKind{
	domain.KindEarn:     loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EARN,
	domain.KindRedeem:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_REDEEM,
	domain.KindExpire:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EXPIRE,
	domain.KindAdjust:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_ADJUST,
	domain.KindReverse:  loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_REVERSE,
	domain.KindTransfer: loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_TRANSFER,
}

func toProtoEntry(e domain.LedgerEntry) *loyaltyv1.LedgerEntry {
	return &loyaltyv1.LedgerEntry{
		Id: e.ID, ProgramId: e.ProgramID, CustomerId: e.CustomerID, Kind: entryKinds[e.Kind],
		Points: e.Points, LifetimePoints: e.LifetimePoints, Cause: e.Cause, OrderId: e.OrderID,
		InteractionId: e.InteractionID, RuleIds: e.RuleIDs, Actor: e.Actor, Reason: e.Reason,
		CounterpartCustomerId: e.CounterpartID, OccurTime: timestamp(e.OccurTime), CreateTime: timestamp(e.CreateTime),
		AvailableTime: timestamp(e.AvailableTime), ExpireTime: timestamp(e.ExpireTime),
	}
}

var expiryKinds = map[domain.ExpiryKind]loyaltyv1.ExpiryKind{
	domain.ExpiryNever:              loyaltyv1.ExpiryKind_EXPIRY_KIND_NEVER,
	domain.ExpiryRollingMonths:      loyaltyv1.ExpiryKind_EXPIRY_KIND_ROLLING_MONTHS,
	domain.ExpiryEndOfFollowingYear: loyaltyv1.ExpiryKind_EXPIRY_KIND_END_OF_FOLLOWING_YEAR,
}

func toDomainExpiryKind(k loyaltyv1.ExpiryKind) domain.ExpiryKind {
	for d, p := range expiryKinds {
		if p == k {
			return d
		}
	}
	if k == loyaltyv1.ExpiryKind_EXPIRY_KIND_UNSPECIFIED {
		return "" // Normalize makes it "never"
	}
	return "invalid"
}

func toDomainProgram(p *loyaltyv1.Program) domain.Program {
	out := domain.Program{
		ID: p.GetId(), Name: p.GetName(), TimeZone: p.GetTimeZone(), AutoEnroll: p.GetAutoEnroll(),
		WelcomePoints: p.GetWelcomePoints(), CurrencyCode: p.GetCurrencyCode(), MinSpendMinor: p.GetMinSpendMinor(),
		OrderCapPoints: p.GetOrderCapPoints(), DayCapPoints: p.GetDayCapPoints(),
		TierWindowMonths: int(p.GetTierWindowMonths()), TierGraceDays: int(p.GetTierGraceDays()),
		PendingDays: int(p.GetPendingDays()), ExpiryKind: toDomainExpiryKind(p.GetExpiryKind()),
		ExpiryMonths: int(p.GetExpiryMonths()), ExpiryNoticeDays: int(p.GetExpiryNoticeDays()),
	}
	for _, r := range p.GetBaseRates() {
		out.BaseRates = append(out.BaseRates, domain.BaseRate{CurrencyCode: r.GetCurrencyCode(), PointsPerUnit: r.GetPointsPerUnit()})
	}
	for _, r := range p.GetEarnRules() {
		out.EarnRules = append(out.EarnRules, domain.EarnRule{ID: r.GetId(), Category: r.GetCategory(), SKU: r.GetSku(),
			MultiplierPercent: r.GetMultiplierPercent(), Start: fromTimestamp(r.GetStartTime()), End: fromTimestamp(r.GetEndTime())})
	}
	for _, r := range p.GetEngagementRules() {
		out.EngagementRules = append(out.EngagementRules, domain.EngagementRule{Kind: r.GetKind(), Points: r.GetPoints()})
	}
	for _, t := range p.GetTiers() {
		out.Tiers = append(out.Tiers, domain.TierDef{Code: t.GetCode(), Name: t.GetName(), QualifyPoints: t.GetQualifyPoints(),
			QualifySpendMinor: t.GetQualifySpendMinor(), MultiplierPercent: t.GetMultiplierPercent()})
	}
	for _, d := range p.GetMemberDays() {
		out.MemberDays = append(out.MemberDays, domain.MemberDay{ID: d.GetId(), Weekday: int(d.GetWeekday()),
			MonthDay: int(d.GetMonthDay()), MultiplierPercent: d.GetMultiplierPercent()})
	}
	return out
}

func toProtoProgram(p domain.Program) *loyaltyv1.Program {
	out := &loyaltyv1.Program{
		Id: p.ID, Name: p.Name, TimeZone: p.TimeZone, AutoEnroll: p.AutoEnroll, WelcomePoints: p.WelcomePoints,
		CurrencyCode: p.CurrencyCode, MinSpendMinor: p.MinSpendMinor, OrderCapPoints: p.OrderCapPoints,
		DayCapPoints: p.DayCapPoints, TierWindowMonths: int32(p.TierWindowMonths), TierGraceDays: int32(p.TierGraceDays),
		PendingDays: int32(p.PendingDays), ExpiryKind: expiryKinds[p.ExpiryKind], ExpiryMonths: int32(p.ExpiryMonths),
		ExpiryNoticeDays: int32(p.ExpiryNoticeDays), CreateTime: timestamp(p.CreateTime), UpdateTime: timestamp(p.UpdateTime),
		Etag: p.Etag(),
	}
	for _, r := range p.BaseRates {
		out.BaseRates = append(out.BaseRates, &loyaltyv1.BaseRate{CurrencyCode: r.CurrencyCode, PointsPerUnit: r.PointsPerUnit})
	}
	for _, r := range p.EarnRules {
		out.EarnRules = append(out.EarnRules, &loyaltyv1.EarnRule{Id: r.ID, Category: r.Category, Sku: r.SKU,
			MultiplierPercent: r.MultiplierPercent, StartTime: timestamp(r.Start), EndTime: timestamp(r.End)})
	}
	for _, r := range p.EngagementRules {
		out.EngagementRules = append(out.EngagementRules, &loyaltyv1.EngagementRule{Kind: r.Kind, Points: r.Points})
	}
	for _, t := range p.Tiers {
		out.Tiers = append(out.Tiers, &loyaltyv1.TierDefinition{Code: t.Code, Name: t.Name, QualifyPoints: t.QualifyPoints,
			QualifySpendMinor: t.QualifySpendMinor, MultiplierPercent: t.MultiplierPercent})
	}
	for _, d := range p.MemberDays {
		out.MemberDays = append(out.MemberDays, &loyaltyv1.MemberDay{Id: d.ID, Weekday: int32(d.Weekday),
			MonthDay: int32(d.MonthDay), MultiplierPercent: d.MultiplierPercent})
	}
	return out
}

func toDomainReward(r *loyaltyv1.Reward) domain.Reward {
	return domain.Reward{
		ID: r.GetId(), ProgramID: r.GetProgramId(), Name: r.GetName(), PointsCost: r.GetPointsCost(), Stock: r.GetStock(),
		UnlimitedStock: r.GetUnlimitedStock(), MinTierCode: r.GetMinTierCode(), MemberDayOnly: r.GetMemberDayOnly(),
		Start: fromTimestamp(r.GetStartTime()), End: fromTimestamp(r.GetEndTime()),
	}
}

func toProtoReward(r domain.Reward) *loyaltyv1.Reward {
	return &loyaltyv1.Reward{
		Id: r.ID, ProgramId: r.ProgramID, Name: r.Name, PointsCost: r.PointsCost, Stock: r.Stock,
		UnlimitedStock: r.UnlimitedStock, MinTierCode: r.MinTierCode, MemberDayOnly: r.MemberDayOnly,
		StartTime: timestamp(r.Start), EndTime: timestamp(r.End), CreateTime: timestamp(r.CreateTime), UpdateTime: timestamp(r.UpdateTime),
	}
}

func toProtoRedemption(r domain.Redemption) *loyaltyv1.Redemption {
	state := loyaltyv1.RedemptionState_REDEMPTION_STATE_ACTIVE
	if r.State == domain.RedemptionCancelled {
		state = loyaltyv1.RedemptionState_REDEMPTION_STATE_CANCELLED
	}
	return &loyaltyv1.Redemption{
		Id: r.ID, ProgramId: r.ProgramID, CustomerId: r.CustomerID, RewardId: r.RewardID, Points: r.Points,
		State: state, CreateTime: timestamp(r.CreateTime), CancelTime: timestamp(r.CancelTime),
	}
}
