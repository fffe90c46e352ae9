// Package protoconv converts between loyalty's domain values and their
// proto forms, for the gRPC API and the events alike.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// VIPTierCode is the tier code the legacy Tier enum calls TIER_VIP.
const VIPTierCode = "vip"

// ToProtoTier is the legacy two-level view of a tier code: "vip" is
// TIER_VIP, any other tier TIER_NORMAL.
func ToProtoTier(code string) loyaltyv1.Tier {
	switch code {
	case "":
		return loyaltyv1.Tier_TIER_UNSPECIFIED
	case VIPTierCode:
		return loyaltyv1.Tier_TIER_VIP
	default:
		return loyaltyv1.Tier_TIER_NORMAL
	}
}

// ToProtoTime leaves a zero time unset.
func ToProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ToDomainTime reads a request's time at the microsecond precision the
// stores keep; unset is the zero time.
func ToDomainTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC().Truncate(time.Microsecond)
}

var entryKinds = map[domain.EntryKind]loyaltyv1.LedgerEntryKind{
	domain.KindEarn:     loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EARN,
	domain.KindRedeem:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_REDEEM,
	domain.KindExpire:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EXPIRE,
	domain.KindAdjust:   loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_ADJUST,
	domain.KindReverse:  loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_REVERSE,
	domain.KindTransfer: loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_TRANSFER,
}

// ToProtoEntry converts a ledger entry.
func ToProtoEntry(e domain.LedgerEntry) *loyaltyv1.LedgerEntry {
	return &loyaltyv1.LedgerEntry{
		Id: e.ID, ProgramId: e.ProgramID, CustomerId: e.CustomerID, Kind: entryKinds[e.Kind],
		Points: e.Points, LifetimePoints: e.LifetimePoints, Cause: e.Cause, OrderId: e.OrderID,
		InteractionId: e.InteractionID, RuleIds: e.RuleIDs, Actor: e.Actor, Reason: e.Reason,
		CounterpartCustomerId: e.CounterpartID, OccurTime: ToProtoTime(e.OccurTime), CreateTime: ToProtoTime(e.CreateTime),
		AvailableTime: ToProtoTime(e.AvailableTime), ExpireTime: ToProtoTime(e.ExpireTime),
	}
}

var expiryKinds = map[domain.ExpiryKind]loyaltyv1.ExpiryKind{
	domain.ExpiryNever:              loyaltyv1.ExpiryKind_EXPIRY_KIND_NEVER,
	domain.ExpiryRollingMonths:      loyaltyv1.ExpiryKind_EXPIRY_KIND_ROLLING_MONTHS,
	domain.ExpiryEndOfFollowingYear: loyaltyv1.ExpiryKind_EXPIRY_KIND_END_OF_FOLLOWING_YEAR,
}

// ToDomainExpiryKind converts a program's expiry kind from a request; an
// unknown one is "invalid", for validation to name.
func ToDomainExpiryKind(k loyaltyv1.ExpiryKind) domain.ExpiryKind {
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

// ToDomainProgram converts a program from a request.
func ToDomainProgram(p *loyaltyv1.Program) domain.Program {
	out := domain.Program{
		ID: p.GetId(), Name: p.GetName(), TimeZone: p.GetTimeZone(), AutoEnroll: p.GetAutoEnroll(),
		WelcomePoints: p.GetWelcomePoints(), CurrencyCode: p.GetCurrencyCode(), MinSpendMinor: p.GetMinSpendMinor(),
		OrderCapPoints: p.GetOrderCapPoints(), DayCapPoints: p.GetDayCapPoints(),
		TierWindowMonths: int(p.GetTierWindowMonths()), TierGraceDays: int(p.GetTierGraceDays()),
		PendingDays: int(p.GetPendingDays()), ExpiryKind: ToDomainExpiryKind(p.GetExpiryKind()),
		ExpiryMonths: int(p.GetExpiryMonths()), ExpiryNoticeDays: int(p.GetExpiryNoticeDays()),
	}
	for _, r := range p.GetBaseRates() {
		out.BaseRates = append(out.BaseRates, domain.BaseRate{CurrencyCode: r.GetCurrencyCode(), PointsPerUnit: r.GetPointsPerUnit()})
	}
	for _, r := range p.GetEarnRules() {
		out.EarnRules = append(out.EarnRules, domain.EarnRule{ID: r.GetId(), Category: r.GetCategory(), SKU: r.GetSku(),
			MultiplierPercent: r.GetMultiplierPercent(), Start: ToDomainTime(r.GetStartTime()), End: ToDomainTime(r.GetEndTime())})
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

// ToProtoProgram converts a program.
func ToProtoProgram(p domain.Program) *loyaltyv1.Program {
	out := &loyaltyv1.Program{
		Id: p.ID, Name: p.Name, TimeZone: p.TimeZone, AutoEnroll: p.AutoEnroll, WelcomePoints: p.WelcomePoints,
		CurrencyCode: p.CurrencyCode, MinSpendMinor: p.MinSpendMinor, OrderCapPoints: p.OrderCapPoints,
		DayCapPoints: p.DayCapPoints, TierWindowMonths: int32(p.TierWindowMonths), TierGraceDays: int32(p.TierGraceDays),
		PendingDays: int32(p.PendingDays), ExpiryKind: expiryKinds[p.ExpiryKind], ExpiryMonths: int32(p.ExpiryMonths),
		ExpiryNoticeDays: int32(p.ExpiryNoticeDays), CreateTime: ToProtoTime(p.CreateTime), UpdateTime: ToProtoTime(p.UpdateTime),
		Etag: p.Etag(),
	}
	for _, r := range p.BaseRates {
		out.BaseRates = append(out.BaseRates, &loyaltyv1.BaseRate{CurrencyCode: r.CurrencyCode, PointsPerUnit: r.PointsPerUnit})
	}
	for _, r := range p.EarnRules {
		out.EarnRules = append(out.EarnRules, &loyaltyv1.EarnRule{Id: r.ID, Category: r.Category, Sku: r.SKU,
			MultiplierPercent: r.MultiplierPercent, StartTime: ToProtoTime(r.Start), EndTime: ToProtoTime(r.End)})
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

// ToDomainReward converts a reward from a request.
func ToDomainReward(r *loyaltyv1.Reward) domain.Reward {
	return domain.Reward{
		ID: r.GetId(), ProgramID: r.GetProgramId(), Name: r.GetName(), PointsCost: r.GetPointsCost(), Stock: r.GetStock(),
		UnlimitedStock: r.GetUnlimitedStock(), MinTierCode: r.GetMinTierCode(), MemberDayOnly: r.GetMemberDayOnly(),
		Start: ToDomainTime(r.GetStartTime()), End: ToDomainTime(r.GetEndTime()),
	}
}

// ToProtoReward converts a reward.
func ToProtoReward(r domain.Reward) *loyaltyv1.Reward {
	return &loyaltyv1.Reward{
		Id: r.ID, ProgramId: r.ProgramID, Name: r.Name, PointsCost: r.PointsCost, Stock: r.Stock,
		UnlimitedStock: r.UnlimitedStock, MinTierCode: r.MinTierCode, MemberDayOnly: r.MemberDayOnly,
		StartTime: ToProtoTime(r.Start), EndTime: ToProtoTime(r.End), CreateTime: ToProtoTime(r.CreateTime), UpdateTime: ToProtoTime(r.UpdateTime),
	}
}

// ToProtoRedemption converts a redemption.
func ToProtoRedemption(r domain.Redemption) *loyaltyv1.Redemption {
	state := loyaltyv1.RedemptionState_REDEMPTION_STATE_ACTIVE
	if r.State == domain.RedemptionCancelled {
		state = loyaltyv1.RedemptionState_REDEMPTION_STATE_CANCELLED
	}
	return &loyaltyv1.Redemption{
		Id: r.ID, ProgramId: r.ProgramID, CustomerId: r.CustomerID, RewardId: r.RewardID, Points: r.Points,
		State: state, CreateTime: ToProtoTime(r.CreateTime), CancelTime: ToProtoTime(r.CancelTime),
	}
}
