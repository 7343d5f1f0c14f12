//! Simulated cloud and cluster: HTTP servers that answer as the real APIs do for a fixture.
//! Knows no verdicts.
