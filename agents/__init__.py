"""Pipeline stages: a pure core per stage plus the thin Faust agents that wire them to topics."""
