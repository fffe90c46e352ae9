// Package events is the loyalty service's driving side on the event bus:
// the JetStream consumers of the customer and interaction events it
// follows, each calling use cases in app.
package events
