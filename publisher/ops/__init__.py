"""Around the pipeline: push the site (`deploy`), preview it (`serve`), schedule the Tuesday job
(`schedule`), scaffold a project (`scaffold`) and diagnose one (`doctor`)."""
