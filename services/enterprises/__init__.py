"""The enterprise registry: who the regulated enterprises are (USCC, region, industry, status), the
instruments under mandatory verification they use and each verification, and what they declare about
themselves (integrity commitments and metrology capability, each with a public code anyone may look up).
Every change becomes an event on the registry's topic, which scoring and the other services consume."""
