"""Decision modes: rules (deterministic scoring), llm (an injected chooser picks among offers), shadow."""
