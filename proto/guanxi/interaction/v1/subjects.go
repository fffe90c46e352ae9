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
	// SubjectCaseEscalated carries CaseEscalated.
	SubjectCaseEscalated = "interaction.case.escalated"
	// SubjectFollowupDue carries FollowupDue.
	SubjectFollowupDue = "interaction.followup.due"
	// SubjectSurveyAnswered carries SurveyAnswered.
	SubjectSurveyAnswered = "interaction.survey.answered"
)

// The stream where external systems (call centers) publish raw events for
// the interaction service to ingest: one IngestEvent per message, protobuf
// (Content-Type application/protobuf) or protojson, on
// ingest.<source>[.<anything>]. A message with an Ingest-Reply-To header
// gets its IngestResult published (protobuf) on that core NATS subject.
const (
	// IngestStream holds the raw events.
	IngestStream = "INGEST"
	// IngestStreamSubjects is the subject filter of IngestStream.
	IngestStreamSubjects = "ingest.>"
	// IngestReplyHeader names the subject an event's result goes to.
	IngestReplyHeader = "Ingest-Reply-To"
)
