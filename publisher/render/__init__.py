"""Stage 4, render one post: the weekly's Markdown from its fact sheet and draft
(`weekly_post.render_weekly_markdown`), its charts (`charts`, matplotlib, imported only when
drawing), and Markdown to sanitised HTML through the shared jinja2 environment (`markdown`)."""
