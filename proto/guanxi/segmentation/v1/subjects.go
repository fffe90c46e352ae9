package segmentationv1

// The JetStream stream and subjects of the segmentation service's events
// (DESIGN.md section 6). Payloads are the messages of events.proto.
const (
	// Stream holds every segmentation event.
	Stream = "SEGMENTATION"
	// StreamSubjects is the subject filter of Stream.
	StreamSubjects = "segmentation.>"
	// SubjectCustomerClassChanged carries CustomerClassChanged.
	SubjectCustomerClassChanged = "segmentation.customer.class_changed"
	// SubjectSegmentMembershipChanged carries SegmentMembershipChanged.
	SubjectSegmentMembershipChanged = "segmentation.segment.membership_changed"
)
