"""What could be offered instead of a declined or referred decision: counterfactual terms the model approves."""
