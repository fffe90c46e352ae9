package notificationv1

// The JetStream stream and subjects of the notification service's events
// (DESIGN.md section 6). Payloads are the messages of events.proto.
const (
	// Stream holds every notification event.
	Stream = "NOTIFICATION"
	// StreamSubjects is the subject filter of Stream.
	StreamSubjects = "notification.>"
	// SubjectMessageSent carries MessageSent.
	SubjectMessageSent = "notification.message.sent"
	// SubjectMessageFailed carries MessageFailed.
	SubjectMessageFailed = "notification.message.failed"
)
