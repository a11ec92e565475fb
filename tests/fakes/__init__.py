"""Protocol-faithful local fakes of the chat platforms (loopback only, no outside network)."""
