"""`monotui report`: a postmortem draft in Markdown from the audit log and Prometheus history.

`gather` (what happened: the audit records and the samples of the window), `analysis` (what it
means: the canary's start, detection, mitigation, impact, the share over time, the timeline),
`svg` and `textchart` (the charts), `markdown` (the document, after the Google SRE and PagerDuty
postmortem templates: facts filled in, the judgement left to the humans). Pure but `gather`.
"""
