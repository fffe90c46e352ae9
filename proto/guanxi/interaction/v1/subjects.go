package interactionv1

// The JetStream stream and subjects of the interaction service's events
// (DESIGN.md section 6). Payloads are the messages of events.proto.
const (
	// Stream holds every interaction event.
	Stream = "INTERACTION"
	// StreamSubjects is the subject filter of Stream.
	StreamSubjects = "interaction.>"
	// SubjectInteractionRecorded carries InteractionRecorded.
	SubjectInteractionRecorded = "interaction.interaction.recorded"
	// SubjectPurchaseRecorded carries PurchaseRecorded.
	SubjectPurchaseRecorded = "interaction.purchase.recorded"
	// SubjectReturnRecorded carries ReturnRecorded.
	SubjectReturnRecorded = "interaction.return.recorded"
	// SubjectCaseResolved carries CaseResolved.
	SubjectCaseResolved = "interaction.case.resolved"
	// SubjectCaseSlaBreached carries CaseSlaBreached.
	SubjectCaseSlaBreached = "interaction.case.sla_breached"
	// SubjectFollowupDue carries FollowupDue.
	SubjectFollowupDue = "interaction.followup.due"
	// SubjectSurveyAnswered carries SurveyAnswered.
	SubjectSurveyAnswered = "interaction.survey.answered"
)
