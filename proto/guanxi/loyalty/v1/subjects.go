package loyaltyv1

// The JetStream stream and subjects of the loyalty service's events
// (DESIGN.md section 6). Payloads are the messages of events.proto.
const (
	// Stream holds every loyalty event.
	Stream = "LOYALTY"
	// StreamSubjects is the subject filter of Stream.
	StreamSubjects = "loyalty.>"
	// SubjectPointsEarned carries PointsEarned.
	SubjectPointsEarned = "loyalty.points.earned"
	// SubjectTierChanged carries TierChanged.
	SubjectTierChanged = "loyalty.tier.changed"
	// SubjectPointsExpiring carries PointsExpiring.
	SubjectPointsExpiring = "loyalty.points.expiring"
	// SubjectProgramChanged carries ProgramChanged.
	SubjectProgramChanged = "loyalty.program.changed"
	// SubjectMemberEnrolled carries MemberEnrolled.
	SubjectMemberEnrolled = "loyalty.member.enrolled"
)
