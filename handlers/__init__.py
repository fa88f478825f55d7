"""The HTTP app: thin edges that verify, parse, call one service and render the answer."""
