package main

import (
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/cobra"
)

// messageTraceFlags adds the message trace options to grab.
func messageTraceFlags(cmd *cobra.Command, o *grabOptions) {
	cmd.Flags().BoolVar(&o.traceDetails, "trace-details", false,
		"messagetrace: also fetch per-recipient delivery details (getDetailsByRecipient) for mail sent outside the tenant's verified domains, at most one throttling-budget window of calls")
}

// configureMessageTrace applies --trace-details to the selected message
// trace source (the flag without that source is refused by the scope
// check, pipeline.Scope).
func (o *grabOptions) configureMessageTrace(v *validated) {
	for i, s := range v.sources {
		if mt, ok := s.(collect.MessageTrace); ok {
			mt.Details = o.traceDetails
			v.sources[i] = mt
		}
	}
}
