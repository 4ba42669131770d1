"""Static site generator: compiles runs/*/events.jsonl into public/."""
