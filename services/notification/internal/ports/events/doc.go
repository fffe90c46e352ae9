// Package events is the notification service's driving side on the event
// bus: the JetStream consumers of the customer events it keeps recipients
// and consents from, and of the interaction, loyalty and segmentation
// events that trigger messages, each calling use cases in app.
package events
