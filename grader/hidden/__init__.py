"""The hidden grading suites, one pytest module per exercise (never in the student release)."""
