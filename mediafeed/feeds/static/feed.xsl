<?xml version="1.0" encoding="UTF-8"?>
<!--
  mediafeed: how a browser shows one of our RSS feeds (issue 16). XSLT 1.0 and XPath 1.0 only, as libxslt
  (Chromium, Firefox's TransforMiiX, lxml) runs them. No script, and no disable-output-escaping anywhere: every
  string from the feed is written as text, so show notes (HTML inside the feed) appear as a stripped summary and
  can never become markup in this page.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
    xmlns:podcast="https://podcastindex.org/namespace/1.0"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    exclude-result-prefixes="atom itunes podcast content">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <!-- How many characters of an episode's notes the summary keeps (the notes are in the app, not here). -->
  <xsl:variable name="summary-length" select="320"/>

  <xsl:variable name="channel" select="/rss/channel"/>
  <!-- The URL to subscribe to: page 1 of a paged feed (rel="first"), else the document's own URL. -->
  <xsl:variable name="feed-url">
    <xsl:choose>
      <xsl:when test="$channel/atom:link[@rel='first']/@href">
        <xsl:value-of select="$channel/atom:link[@rel='first']/@href"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$channel/atom:link[@rel='self']/@href"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="artwork">
    <xsl:choose>
      <xsl:when test="$channel/itunes:image/@href">
        <xsl:value-of select="$channel/itunes:image/@href"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$channel/image/url"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <html>
      <xsl:attribute name="lang">
        <xsl:choose>
          <xsl:when test="normalize-space($channel/language)">
            <xsl:value-of select="normalize-space($channel/language)"/>
          </xsl:when>
          <xsl:otherwise>en</xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$channel/title"/> · podcast feed</title>
        <xsl:if test="$artwork != ''">
          <link rel="icon">
            <xsl:attribute name="href"><xsl:call-template name="safe-url"><xsl:with-param name="url" select="$artwork"/></xsl:call-template></xsl:attribute>
          </link>
        </xsl:if>
        <style>
          :root { --ink: #1d1d1f; --muted: #5b5b66; --paper: #ffffff; --panel: #f3f3f6; --edge: #d0d0d8; --link: #0b57c2; }
          @media (prefers-color-scheme: dark) {
            :root { --ink: #f2f2f5; --muted: #b4b4c0; --paper: #16161a; --panel: #24242b; --edge: #3c3c48; --link: #8ab4ff; }
          }
          * { box-sizing: border-box; }
          body { margin: 0; background: var(--paper); color: var(--ink);
                 font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
          main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
          a { color: var(--link); }
          a:focus-visible, input:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
          .notice { background: var(--panel); border: 1px solid var(--edge); border-radius: .5rem; padding: 1rem 1.25rem; }
          .notice h2 { margin-top: 0; font-size: 1.15rem; }
          .notice input { width: 100%; font: .95rem ui-monospace, SFMono-Regular, Menlo, monospace; padding: .5rem;
                          color: var(--ink); background: var(--paper); border: 1px solid var(--edge); border-radius: .25rem; }
          code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
          header.show { display: flex; gap: 1.25rem; align-items: flex-start; margin: 2rem 0 1rem; }
          header.show img { width: 9rem; height: 9rem; object-fit: cover; border-radius: .5rem; flex: none; }
          header.show h1 { margin: 0 0 .5rem; font-size: 1.75rem; line-height: 1.2; }
          .muted { color: var(--muted); }
          ol.episodes { list-style: none; padding: 0; margin: 0; }
          ol.episodes > li { border-top: 1px solid var(--edge); padding: 1rem 0; }
          ol.episodes h3 { margin: 0 0 .25rem; font-size: 1.1rem; }
          .meta { margin: 0 0 .5rem; font-size: .9rem; }
          .actions { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; margin: .5rem 0 0; padding: 0; list-style: none; }
          nav.pages ul { display: flex; gap: 1.5rem; list-style: none; padding: 0; }
          @media (max-width: 32rem) { header.show { flex-direction: column; } }
        </style>
      </head>
      <body>
        <main>
          <section class="notice" aria-labelledby="about-feed">
            <h2 id="about-feed">This is a podcast feed</h2>
            <p>
              It is meant for podcast apps, not for reading in a browser. To subscribe, copy this URL into your
              podcast app (look for “Add a show by URL”, “Follow a show by URL” or a <strong>+</strong> button):
            </p>
            <p>
              <label for="feed-url">Feed URL</label><br/>
              <input id="feed-url" type="url" readonly="readonly" value="{$feed-url}"/>
            </p>
            <p class="muted">The same URL as text: <code><xsl:value-of select="$feed-url"/></code></p>
          </section>

          <header class="show">
            <xsl:if test="$artwork != ''">
              <img alt="" width="144" height="144">
                <xsl:attribute name="src"><xsl:call-template name="safe-url"><xsl:with-param name="url" select="$artwork"/></xsl:call-template></xsl:attribute>
              </img>
            </xsl:if>
            <div>
              <h1><xsl:value-of select="$channel/title"/></h1>
              <xsl:if test="normalize-space($channel/itunes:author)">
                <p class="muted">By <xsl:value-of select="normalize-space($channel/itunes:author)"/></p>
              </xsl:if>
              <p>
                <xsl:call-template name="summary">
                  <xsl:with-param name="html" select="$channel/description"/>
                  <xsl:with-param name="limit" select="1200"/>
                </xsl:call-template>
              </p>
              <xsl:call-template name="link">
                <xsl:with-param name="url" select="$channel/link"/>
                <xsl:with-param name="label">Website</xsl:with-param>
              </xsl:call-template>
            </div>
          </header>

          <section aria-labelledby="episodes">
            <h2 id="episodes">Episodes</h2>
            <xsl:choose>
              <xsl:when test="$channel/item">
                <ol class="episodes">
                  <xsl:apply-templates select="$channel/item"/>
                </ol>
              </xsl:when>
              <xsl:otherwise>
                <p>No episodes yet.</p>
              </xsl:otherwise>
            </xsl:choose>
            <xsl:call-template name="pages"/>
          </section>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <article>
        <h3><xsl:value-of select="title"/></h3>
        <p class="meta muted">
          <xsl:call-template name="date"><xsl:with-param name="rfc822" select="pubDate"/></xsl:call-template>
          <xsl:if test="normalize-space(itunes:duration)">
            <xsl:text> · Duration </xsl:text>
            <xsl:call-template name="duration"><xsl:with-param name="value" select="normalize-space(itunes:duration)"/></xsl:call-template>
          </xsl:if>
          <xsl:if test="itunes:episodeType = 'trailer' or itunes:episodeType = 'bonus'">
            <xsl:text> · </xsl:text>
            <xsl:value-of select="itunes:episodeType"/>
          </xsl:if>
        </p>
        <xsl:variable name="notes">
          <xsl:call-template name="summary">
            <xsl:with-param name="html" select="description"/>
            <xsl:with-param name="limit" select="$summary-length"/>
          </xsl:call-template>
        </xsl:variable>
        <xsl:if test="normalize-space($notes)">
          <p><xsl:value-of select="$notes"/></p>
        </xsl:if>
        <ul class="actions">
          <xsl:for-each select="enclosure[@url]">
            <li>
              <xsl:call-template name="link">
                <xsl:with-param name="url" select="@url"/>
                <xsl:with-param name="label">
                  <xsl:choose>
                    <xsl:when test="starts-with(@type, 'video/')">Download the video</xsl:when>
                    <xsl:otherwise>Download the audio</xsl:otherwise>
                  </xsl:choose>
                  <xsl:if test="number(@length) &gt; 0">
                    <xsl:text> (</xsl:text>
                    <xsl:value-of select="format-number(@length div 1048576, '0.0')"/>
                    <xsl:text> MB)</xsl:text>
                  </xsl:if>
                </xsl:with-param>
              </xsl:call-template>
            </li>
          </xsl:for-each>
          <xsl:if test="normalize-space(link)">
            <li>
              <xsl:call-template name="link">
                <xsl:with-param name="url" select="link"/>
                <xsl:with-param name="label">Read more</xsl:with-param>
              </xsl:call-template>
            </li>
          </xsl:if>
        </ul>
      </article>
    </li>
  </xsl:template>

  <!-- Page links of an RFC 5005 paged feed. -->
  <xsl:template name="pages">
    <xsl:variable name="previous" select="$channel/atom:link[@rel='previous']/@href"/>
    <xsl:variable name="next" select="$channel/atom:link[@rel='next']/@href"/>
    <xsl:if test="$previous or $next">
      <nav class="pages" aria-label="Older and newer episodes">
        <ul>
          <xsl:if test="$previous">
            <li><xsl:call-template name="link"><xsl:with-param name="url" select="$previous"/><xsl:with-param name="label">Newer episodes</xsl:with-param></xsl:call-template></li>
          </xsl:if>
          <xsl:if test="$next">
            <li><xsl:call-template name="link"><xsl:with-param name="url" select="$next"/><xsl:with-param name="label">Older episodes</xsl:with-param></xsl:call-template></li>
          </xsl:if>
        </ul>
      </nav>
    </xsl:if>
  </xsl:template>

  <!-- A link only to an http(s) URL; anything else (javascript:, data:) is shown as text. -->
  <xsl:template name="link">
    <xsl:param name="url"/>
    <xsl:param name="label"/>
    <xsl:variable name="clean" select="normalize-space($url)"/>
    <xsl:choose>
      <xsl:when test="starts-with($clean, 'https://') or starts-with($clean, 'http://')">
        <a href="{$clean}"><xsl:value-of select="$label"/></a>
      </xsl:when>
      <xsl:when test="$clean != ''">
        <span><xsl:value-of select="$label"/>: <code><xsl:value-of select="$clean"/></code></span>
      </xsl:when>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="safe-url">
    <xsl:param name="url"/>
    <xsl:variable name="clean" select="normalize-space($url)"/>
    <xsl:if test="starts-with($clean, 'https://') or starts-with($clean, 'http://')">
      <xsl:value-of select="$clean"/>
    </xsl:if>
  </xsl:template>

  <!-- "Wed, 25 Nov 2026 09:00:00 +0000" → "25 Nov 2026" (the day-name and time are dropped). -->
  <xsl:template name="date">
    <xsl:param name="rfc822"/>
    <xsl:variable name="text" select="normalize-space($rfc822)"/>
    <xsl:variable name="rest">
      <xsl:choose>
        <xsl:when test="contains($text, ',')"><xsl:value-of select="normalize-space(substring-after($text, ','))"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="day" select="substring-before($rest, ' ')"/>
    <xsl:variable name="after-day" select="substring-after($rest, ' ')"/>
    <xsl:variable name="month" select="substring-before($after-day, ' ')"/>
    <xsl:variable name="after-month" select="substring-after($after-day, ' ')"/>
    <xsl:variable name="year">
      <xsl:choose>
        <xsl:when test="contains($after-month, ' ')"><xsl:value-of select="substring-before($after-month, ' ')"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$after-month"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="$day != '' and $month != '' and $year != ''">
        <xsl:value-of select="concat(number($day), ' ', $month, ' ', $year)"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- itunes:duration in seconds → "1:02:03" or "4:05"; an hh:mm:ss value is shown as it is. -->
  <xsl:template name="duration">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="contains($value, ':') or string(number($value)) = 'NaN'">
        <xsl:value-of select="$value"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:variable name="seconds" select="round(number($value))"/>
        <xsl:variable name="hours" select="floor($seconds div 3600)"/>
        <xsl:variable name="minutes" select="floor(($seconds mod 3600) div 60)"/>
        <xsl:choose>
          <xsl:when test="$hours &gt; 0">
            <xsl:value-of select="concat($hours, ':', format-number($minutes, '00'), ':', format-number($seconds mod 60, '00'))"/>
          </xsl:when>
          <xsl:otherwise>
            <xsl:value-of select="concat($minutes, ':', format-number($seconds mod 60, '00'))"/>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Show notes as plain text: tags dropped, a few entities decoded, whitespace collapsed, cut to `limit`
       characters. The result is only ever written as text (escaped), so whatever survives stays inert. -->
  <xsl:template name="summary">
    <xsl:param name="html"/>
    <xsl:param name="limit" select="320"/>
    <!-- Bounded input keeps the recursion below shallow whatever the notes hold. -->
    <xsl:variable name="stripped">
      <xsl:call-template name="strip-tags">
        <xsl:with-param name="text" select="substring($html, 1, $limit * 4)"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="decoded">
      <xsl:call-template name="decode">
        <xsl:with-param name="text" select="normalize-space($stripped)"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="string-length($decoded) &gt; $limit">
        <xsl:value-of select="concat(substring($decoded, 1, $limit - 1), '…')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$decoded"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="strip-tags">
    <xsl:param name="text"/>
    <xsl:choose>
      <xsl:when test="contains($text, '&lt;')">
        <xsl:value-of select="substring-before($text, '&lt;')"/>
        <xsl:text> </xsl:text>
        <xsl:call-template name="strip-tags">
          <xsl:with-param name="text" select="substring-after(substring-after($text, '&lt;'), '&gt;')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="decode">
    <xsl:param name="text"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text">
                <xsl:call-template name="replace">
                  <xsl:with-param name="text">
                    <xsl:call-template name="replace">
                      <xsl:with-param name="text">
                        <xsl:call-template name="replace">
                          <xsl:with-param name="text" select="$text"/>
                          <xsl:with-param name="from" select="'&amp;nbsp;'"/>
                          <xsl:with-param name="to" select="' '"/>
                        </xsl:call-template>
                      </xsl:with-param>
                      <xsl:with-param name="from" select="'&amp;#39;'"/>
                      <xsl:with-param name="to">'</xsl:with-param>
                    </xsl:call-template>
                  </xsl:with-param>
                  <xsl:with-param name="from" select="'&amp;quot;'"/>
                  <xsl:with-param name="to" select="'&quot;'"/>
                </xsl:call-template>
              </xsl:with-param>
              <xsl:with-param name="from" select="'&amp;lt;'"/>
              <xsl:with-param name="to" select="'&lt;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;gt;'"/>
          <xsl:with-param name="to" select="'&gt;'"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="concat(substring-before($text, $from), $to)"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
