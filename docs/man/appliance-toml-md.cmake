# Turns docs/configuration.md into the Markdown for appliance.toml(5):
# a man title block instead of the first heading.  cmake -DIN=.. -DOUT=.. -P
file(READ ${IN} text)
string(FIND "${text}" "\n" first_newline)
math(EXPR rest_start "${first_newline} + 1")
string(SUBSTRING "${text}" ${rest_start} -1 rest)
file(WRITE ${OUT} "% APPLIANCE.TOML 5 \"November 2026\" \"Oryx\" \"File Formats\"\n${rest}")
