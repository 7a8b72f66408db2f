"""Orders (activations, cheap orders, rentals, emails): filled in by later issues."""
