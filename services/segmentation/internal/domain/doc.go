// Package domain holds the segmentation service's model and rules: customer
// value (spend, ABC class), the purchases it is computed from, and the
// interfaces the rules need from storage. It imports no proto, SQL or NATS
// package.
package domain
