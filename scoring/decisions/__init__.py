"""Officer decisions: score and record an application, review a decision, the history, the form and its pages."""
