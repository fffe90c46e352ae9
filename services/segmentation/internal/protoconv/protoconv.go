// Package protoconv converts between the segmentation domain and its proto
// messages, for the gRPC server and the event encoder alike.
package protoconv

import (
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

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
