"""The risk engine: the state and every proposal of a tick in, a verdict with reasons per proposal out."""
