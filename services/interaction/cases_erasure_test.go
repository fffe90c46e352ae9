package interaction_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// TestErasureAndMergeReachCasesSurveysAndFollowups merges one customer
// into another, whose cases, surveys and follow-ups then belong to the
// survivor, and erases the survivor: the free text of its cases, comments,
// survey answers and follow-up notes is gone, the records stay.
func TestErasureAndMergeReachCasesSurveysAndFollowups(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		merged, survivor := newUUID(t), newUUID(t)
		fake := &fakeCustomers{known: survivor}
		fake.add(merged)
		svc := startServiceOn(t, startCustomers(t, fake), 3*time.Second, dbURL)
		js := svc.customerStream(t)
		ctx := ctxTimeout(t)
		c := svc.client

		cs, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: &interactionv1.Case{CustomerId: merged,
			Subject: piiName + " 投诉", Description: "电话 " + piiPhone}})
		if err != nil {
			t.Fatal(err)
		}
		caseID := cs.GetCase().GetId()
		if _, err := c.AddCaseComment(ctx, &interactionv1.AddCaseCommentRequest{CaseId: caseID,
			Comment: &interactionv1.CaseComment{Body: "回邮件到 " + piiEmail, CustomerVisible: true}}); err != nil {
			t.Fatal(err)
		}
		res, err := c.ResolveCase(ctx, &interactionv1.ResolveCaseRequest{Id: caseID, Resolution: piiName + " 已满意"})
		if err != nil {
			t.Fatal(err)
		}
		surveyID := res.GetCase().GetSurveyId()
		if _, err := c.AnswerSurvey(ctx, &interactionv1.AnswerSurveyRequest{Id: surveyID, Score: 5, Comment: "我是" + piiName}); err != nil {
			t.Fatal(err)
		}
		f, err := c.CreateFollowup(ctx, &interactionv1.CreateFollowupRequest{Followup: &interactionv1.Followup{CustomerId: merged,
			DueTime: timestamppb.New(time.Now().Add(72 * time.Hour)), Note: "打 " + piiPhone}})
		if err != nil {
			t.Fatal(err)
		}

		fake.merge(merged, survivor)
		publish(t, js, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor})
		testinfra.Eventually(t, 10*time.Second, "the case to move to the survivor", func() bool {
			got, err := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: caseID})
			return err == nil && got.GetCase().GetCustomerId() == survivor
		})
		fs, err := c.ListFollowups(ctx, &interactionv1.ListFollowupsRequest{Filter: `customer_id = "` + survivor + `"`})
		if err != nil || len(fs.GetFollowups()) != 1 || fs.GetFollowups()[0].GetId() != f.GetFollowup().GetId() {
			t.Errorf("survivor's follow-ups = %v, %v", fs, err)
		}
		if sv, err := c.GetSurvey(ctx, &interactionv1.GetSurveyRequest{Id: surveyID}); err != nil || sv.GetSurvey().GetCustomerId() != survivor {
			t.Errorf("survey after the merge = %v, %v", sv, err)
		}

		fake.erase(survivor)
		publish(t, js, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: survivor, EraseTime: timestamppb.Now()})
		svc.drainCustomers(t, fake, js)
		got, err := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: caseID})
		if err != nil {
			t.Fatal(err)
		}
		assertNoPersonalData(t, "GetCase", got)
		if got.GetCase().GetStatus() != interactionv1.CaseStatus_CASE_STATUS_RESOLVED {
			t.Errorf("erased case status = %v, want it kept", got.GetCase().GetStatus())
		}
		comments, err := c.ListCaseComments(ctx, &interactionv1.ListCaseCommentsRequest{CaseId: caseID})
		if err != nil || len(comments.GetComments()) != 1 {
			t.Fatalf("comments after erasure = %v, %v", comments, err)
		}
		assertNoPersonalData(t, "ListCaseComments", comments)
		sv, err := c.GetSurvey(ctx, &interactionv1.GetSurveyRequest{Id: surveyID})
		if err != nil || sv.GetSurvey().GetScore() != 5 {
			t.Fatalf("survey after erasure = %v, %v", sv, err)
		}
		assertNoPersonalData(t, "GetSurvey", sv)
		fs, err = c.ListFollowups(ctx, &interactionv1.ListFollowupsRequest{Filter: `customer_id = "` + survivor + `"`})
		if err != nil {
			t.Fatal(err)
		}
		assertNoPersonalData(t, "ListFollowups", fs)
		tl, err := c.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: survivor})
		if err != nil {
			t.Fatal(err)
		}
		assertNoPersonalData(t, "ListInteractions", tl)
	})
}
