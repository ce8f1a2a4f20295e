"""Model lifecycle: load bundles from the Hub, register, validate, compare, activate (four-eyes), roll back."""
