// Package protoconv converts between segmentation's domain values and their
// proto forms, for the gRPC API and the events alike.
package protoconv

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// ToProtoClass converts a domain class to its proto enum.
func ToProtoClass(c domain.Class) segmentationv1.AbcClass {
	switch c {
	case domain.ClassA:
		return segmentationv1.AbcClass_ABC_CLASS_A
	case domain.ClassB:
		return segmentationv1.AbcClass_ABC_CLASS_B
	case domain.ClassC:
		return segmentationv1.AbcClass_ABC_CLASS_C
	default:
		return segmentationv1.AbcClass_ABC_CLASS_UNSPECIFIED
	}
}

// ToProtoCustomerValue converts a customer value; currency and policy
// give the predictions' currency and horizons.
func ToProtoCustomerValue(v domain.CustomerValue, currency string, policy domain.PredictionPolicy) *segmentationv1.CustomerValue {
	out := &segmentationv1.CustomerValue{
		CustomerId:        v.CustomerID,
		AbcClass:          ToProtoClass(v.Class),
		TrailingSpend:     ToProtoMoney(v.TrailingSpend),
		LifetimeSpend:     ToProtoMoney(v.LifetimeSpend),
		PurchaseCount:     v.PurchaseCount,
		FirstPurchaseTime: ToProtoTime(v.FirstPurchaseTime),
		LastPurchaseTime:  ToProtoTime(v.LastPurchaseTime),
		RevenueShareAbove: v.RevenueShareAbove,
		ComputeTime:       ToProtoTime(v.ComputeTime),
		PurchaseDays:      v.PurchaseDays,
		Refunds:           ToProtoMoney(v.Refunds),
	}
	if v.RFM.R > 0 {
		out.Rfm = &segmentationv1.RfmScore{Recency: int32(v.RFM.R), Frequency: int32(v.RFM.F), Monetary: int32(v.RFM.M), Segment: v.RFM.Segment}
	}
	if v.Predicted {
		out.Prediction = &segmentationv1.CustomerPrediction{
			PAlive:             v.Prediction.PAlive,
			ExpectedPurchases:  v.Prediction.ExpectedPurchases,
			HorizonWeeks:       int32(policy.HorizonWeeks),
			ExpectedOrderValue: RoundedMoney(currency, v.Prediction.ExpectedAOV),
			Clv:                RoundedMoney(currency, v.Prediction.CLV),
			ClvHorizonMonths:   int32(policy.CLVMonths),
			Dert:               v.Prediction.DERT,
			AnnualDiscount:     policy.AnnualDiscount,
			Margin:             policy.Margin,
			Model:              string(v.Prediction.Model),
		}
	}
	for _, c := range v.CategorySpends {
		out.CategorySpends = append(out.CategorySpends, &segmentationv1.CategorySpend{
			Category: c.Category, Quantity: c.Quantity, Spend: RoundedMoney(currency, float64(c.Spend)),
		})
	}
	for _, m := range v.SpendByCurrency {
		out.LifetimeSpendByCurrency = append(out.LifetimeSpendByCurrency, ToProtoMoney(m))
	}
	return out
}

// RoundedMoney rounds an amount in minor units of currency, the reporting
// currency; an amount that is not a number is 0.
func RoundedMoney(currency string, minor float64) *typev1.Money {
	if math.IsNaN(minor) || math.IsInf(minor, 0) {
		minor = 0
	}
	return &typev1.Money{CurrencyCode: currency, AmountMinor: int64(math.Round(minor))}
}

// ToProtoFit converts a model fit.
func ToProtoFit(f domain.ModelFit) *segmentationv1.ModelFit {
	return &segmentationv1.ModelFit{
		R: f.BGNBD.R, Alpha: f.BGNBD.Alpha, A: f.BGNBD.A, B: f.BGNBD.B,
		LogLikelihood: f.LogLikelihood, CustomerCount: f.Customers,
		P: f.Spend.P, Q: f.Spend.Q, Gamma: f.Spend.Gamma,
		SpendLogLikelihood: f.SpendLogLikelihood, RepeatCustomerCount: f.RepeatCustomers,
		CalibrationEndTime: ToProtoTime(f.CalibrationEnd), FitTime: ToProtoTime(f.FitTime),
		FitDuration: durationpb.New(f.Duration), TimeUnit: "week", BgnbdFitDuration: durationpb.New(f.BGNBDDuration),
		Model: string(f.Counts().Kind), ModelChoice: f.Choice, Warnings: f.Warnings(),
	}
}

// ToProtoOutlook converts a purchase outlook; currency and policy give the
// money's currency and the CLV's settings.
func ToProtoOutlook(o domain.Outlook, currency string, policy domain.PredictionPolicy) *segmentationv1.PredictPurchasesResponse {
	out := &segmentationv1.PredictPurchasesResponse{
		CustomerId: o.CustomerID, Model: string(o.Model), HorizonWeeks: int32(o.HorizonWeeks),
		PAlive: o.PAlive, ExpectedPurchases: o.ExpectedPurchases, PurchaseProbabilities: o.Probabilities,
		Dert: o.DERT, Clv: RoundedMoney(currency, o.CLV), ClvHorizonMonths: int32(policy.CLVMonths),
		AnnualDiscount: policy.AnnualDiscount, Margin: policy.Margin,
	}
	if o.ExpectedAOV > 0 {
		out.ExpectedOrderValue = RoundedMoney(currency, o.ExpectedAOV)
	}
	return out
}

// ToProtoValidation converts a model validation.
func ToProtoValidation(v domain.ModelValidation) *segmentationv1.ValidateModelResponse {
	out := &segmentationv1.ValidateModelResponse{
		CalibrationEndTime: ToProtoTime(v.CalibrationEnd), HoldoutWeeks: int32(v.HoldoutWeeks),
		CustomerCount: int64(v.Customers), ChosenModel: string(v.Models[v.Chosen].Fit.Params.Kind), Reason: v.Reason,
	}
	for _, m := range v.Models {
		p := m.Fit.Params.Params
		pm := &segmentationv1.ModelValidation{
			Model: string(m.Fit.Params.Kind), R: p.R, Alpha: p.Alpha, A: p.A, B: p.B, LogLikelihood: m.Fit.LogLikelihood,
			MeanAbsoluteError: m.MAE, RootMeanSquaredError: m.RMSE, FrequencyBinError: m.BinError,
		}
		for _, b := range m.Bins {
			pm.FrequencyBins = append(pm.FrequencyBins, &segmentationv1.FrequencyBin{
				Frequency: int32(b.Frequency), CustomerCount: int64(b.Customers), Actual: b.Actual, Predicted: b.Predicted,
			})
		}
		for _, c := range m.Cumulative {
			pm.Cumulative = append(pm.Cumulative, &segmentationv1.CumulativePoint{Weeks: int32(c.Weeks), Actual: c.Actual, Predicted: c.Predicted})
		}
		out.Models = append(out.Models, pm)
	}
	return out
}

// ToDomainSegment converts a segment from a request.
func ToDomainSegment(p *segmentationv1.Segment) domain.Segment {
	return domain.Segment{ID: p.GetId(), Name: p.GetName(), Description: p.GetDescription(), Filter: p.GetFilter(), Etag: p.GetEtag()}
}

// ToProtoSegment converts a segment.
func ToProtoSegment(s domain.Segment) *segmentationv1.Segment {
	return &segmentationv1.Segment{
		Id: s.ID, Name: s.Name, Description: s.Description, Filter: s.Filter, MemberCount: s.MemberCount,
		CreateTime: ToProtoTime(s.CreateTime), UpdateTime: ToProtoTime(s.UpdateTime), Etag: s.Etag,
	}
}

// ToProtoMoney converts an amount.
func ToProtoMoney(m domain.Money) *typev1.Money {
	return &typev1.Money{CurrencyCode: m.Currency, AmountMinor: m.Minor}
}

// ToProtoTime leaves unknown times (no purchase yet) unset rather than
// sending 1970.
func ToProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
