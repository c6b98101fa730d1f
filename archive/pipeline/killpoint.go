package pipeline

import "github.com/evidence-dfir/evidence/collect"

// EnvKillAt is collect.EnvKillAt: the crash-point tests' step to kill the
// process at.
const EnvKillAt = collect.EnvKillAt

// KillPoint is collect.KillPoint, called after each named step.
func KillPoint(step string) { collect.KillPoint(step) }
