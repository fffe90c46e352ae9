// Package events is the interaction service's driving side on the event
// bus: the JetStream consumers of the customer events it follows and of the
// INGEST stream call-center systems publish to, each calling use cases in
// app.
package events
