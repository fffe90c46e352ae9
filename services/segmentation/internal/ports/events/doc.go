// Package events is the segmentation service's driving side on the event
// bus: the JetStream consumers of the customer events and of the purchases
// and returns it builds customer facts from, each calling use cases in app.
package events
