"""The upload history beside the queue, its export, and clearing verified originals."""
