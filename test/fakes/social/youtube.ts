// A fake YouTube serving the public Atom feeds of channels and playlists
// (/feeds/videos.xml?channel_id=… | ?playlist_id=…), as www.youtube.com does: the newest 15
// uploads of a channel, the first 15 videos of a playlist in playlist order, and an HTML
// 404 page for a channel or playlist it does not know.
import { randomBytes } from "node:crypto";
import { escapeXml, startFakeServer, type Answer, type FakeServer } from "./server.js";

export interface NewVideo {
  title: string;
  description?: string;
  /** 11 characters; made up when absent. */
  videoId?: string;
  /** Epoch ms; defaults to the fake's clock. */
  publishedAt?: number;
  /** Playlists the video is appended to (created on first use). */
  playlistIds?: string[];
}

export interface Video {
  videoId: string;
  channelId: string;
  title: string;
  description: string;
  publishedAt: number;
  views: number;
}

export interface FakeYouTubeOptions {
  port?: number;
  now?: () => number;
  /** Entries per feed; YouTube's is 15. */
  feedSize?: number;
}

export interface FakeYouTube extends FakeServer {
  /** Names a channel (one is made up for a channel first seen in addVideo). */
  addChannel(channelId: string, name: string): void;
  addVideo(channelId: string, video: NewVideo): Video;
  addPlaylist(playlistId: string, options: { channelId: string; title: string }): void;
}

/** A channel id of the form YouTube uses: "UC" and 22 base64url characters. */
export function makeChannelId(): string {
  return `UC${randomBytes(17).toString("base64url").slice(0, 22)}`;
}

/** A playlist id of the form YouTube uses for user playlists: "PL" and 32 characters. */
export function makePlaylistId(): string {
  return `PL${randomBytes(24).toString("base64url").slice(0, 32)}`;
}

export async function startFakeYouTube(options: FakeYouTubeOptions = {}): Promise<FakeYouTube> {
  const { now = Date.now, feedSize = 15 } = options;
  const channels = new Map<string, { name: string; createdAt: number; videos: Video[] }>();
  const playlists = new Map<string, { channelId: string; title: string; createdAt: number; videoIds: string[] }>();
  const videos = new Map<string, Video>();

  function channel(channelId: string) {
    let found = channels.get(channelId);
    if (!found) channels.set(channelId, (found = { name: `Channel ${channelId.slice(2, 8)}`, createdAt: now(), videos: [] }));
    return found;
  }

  function handle({ method, url }: { method: string; url: URL }): Answer {
    if (method !== "GET" || url.pathname !== "/feeds/videos.xml") return notFoundPage();
    const channelId = url.searchParams.get("channel_id");
    const playlistId = url.searchParams.get("playlist_id");
    if (channelId !== null) {
      const found = channels.get(channelId);
      if (!found) return notFoundPage();
      const newest = [...found.videos].sort((a, b) => b.publishedAt - a.publishedAt).slice(0, feedSize);
      return atom(channelFeed(channelId, found.name, found.createdAt, newest));
    }
    if (playlistId !== null) {
      const found = playlists.get(playlistId);
      if (!found) return notFoundPage();
      const owner = channel(found.channelId);
      const listed = found.videoIds.slice(0, feedSize).map((id) => videos.get(id)!);
      return atom(playlistFeed(playlistId, found, owner.name, listed));
    }
    return { status: 400, headers: { "content-type": "text/html; charset=utf-8" }, body: "<!DOCTYPE html><html><body>400. That’s an error.</body></html>" };
  }

  function entry(video: Video, author: string): string {
    const channelUrl = `https://www.youtube.com/channel/${video.channelId}`;
    return ` <entry>
  <id>yt:video:${video.videoId}</id>
  <yt:videoId>${video.videoId}</yt:videoId>
  <yt:channelId>${video.channelId}</yt:channelId>
  <title>${escapeXml(video.title)}</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=${video.videoId}"/>
  <author>
   <name>${escapeXml(author)}</name>
   <uri>${channelUrl}</uri>
  </author>
  <published>${youtubeTime(video.publishedAt)}</published>
  <updated>${youtubeTime(video.publishedAt + 60_000)}</updated>
  <media:group>
   <media:title>${escapeXml(video.title)}</media:title>
   <media:content url="https://www.youtube.com/v/${video.videoId}?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="https://i2.ytimg.com/vi/${video.videoId}/hqdefault.jpg" width="480" height="360"/>
   <media:description>${escapeXml(video.description)}</media:description>
   <media:community>
    <media:starRating count="${Math.floor(video.views / 20)}" average="5.00" min="1" max="5"/>
    <media:statistics views="${video.views}"/>
   </media:community>
  </media:group>
 </entry>
`;
  }

  function channelFeed(channelId: string, name: string, createdAt: number, listed: Video[]): string {
    const channelUrl = `https://www.youtube.com/channel/${channelId}`;
    return `${FEED_START}
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id=${channelId}"/>
 <id>yt:channel:${channelId}</id>
 <yt:channelId>${channelId}</yt:channelId>
 <title>${escapeXml(name)}</title>
 <link rel="alternate" href="${channelUrl}"/>
 <author>
  <name>${escapeXml(name)}</name>
  <uri>${channelUrl}</uri>
 </author>
 <published>${youtubeTime(createdAt)}</published>
${listed.map((video) => entry(video, name)).join("")}</feed>
`;
  }

  function playlistFeed(playlistId: string, playlist: { channelId: string; title: string; createdAt: number }, owner: string, listed: Video[]): string {
    const channelUrl = `https://www.youtube.com/channel/${playlist.channelId}`;
    return `${FEED_START}
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?playlist_id=${playlistId}"/>
 <id>yt:playlist:${playlistId}</id>
 <yt:playlistId>${playlistId}</yt:playlistId>
 <yt:channelId>${playlist.channelId}</yt:channelId>
 <title>${escapeXml(playlist.title)}</title>
 <link rel="alternate" href="https://www.youtube.com/playlist?list=${playlistId}"/>
 <author>
  <name>${escapeXml(owner)}</name>
  <uri>${channelUrl}</uri>
 </author>
 <published>${youtubeTime(playlist.createdAt)}</published>
${listed.map((video) => entry(video, channels.get(video.channelId)?.name ?? owner)).join("")}</feed>
`;
  }

  const server = await startFakeServer({
    port: options.port,
    now,
    wire: {
      tooManyRequests: (seconds) => ({ ...errorPage(429, "We're sorry... but your computer or network may be sending automated queries."), headers: { "content-type": "text/html; charset=utf-8", "retry-after": String(seconds) } }),
      error: (status) => errorPage(status, status >= 500 ? "That’s an error. Please try again later." : "That’s an error."),
    },
    handle,
  });

  return {
    ...server,
    addChannel: (channelId, name) => void (channel(channelId).name = name),
    addVideo(channelId, video) {
      const made: Video = {
        videoId: video.videoId ?? randomBytes(9).toString("base64url").slice(0, 11),
        channelId,
        title: video.title,
        description: video.description ?? "",
        publishedAt: video.publishedAt ?? now(),
        views: 0,
      };
      channel(channelId).videos.push(made);
      videos.set(made.videoId, made);
      for (const playlistId of video.playlistIds ?? []) {
        let playlist = playlists.get(playlistId);
        if (!playlist) playlists.set(playlistId, (playlist = { channelId, title: `Playlist ${playlistId.slice(2, 8)}`, createdAt: now(), videoIds: [] }));
        playlist.videoIds.push(made.videoId);
      }
      return made;
    },
    addPlaylist(playlistId, { channelId, title }) {
      channel(channelId);
      const existing = playlists.get(playlistId);
      if (existing) Object.assign(existing, { channelId, title });
      else playlists.set(playlistId, { channelId, title, createdAt: now(), videoIds: [] });
    },
  };
}

const FEED_START = `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">`;

// YouTube writes feed times to the second with an explicit +00:00.
function youtubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

function atom(body: string): Answer {
  return { status: 200, headers: { "content-type": "text/xml; charset=UTF-8" }, body };
}

function errorPage(status: number, message: string): Answer {
  return {
    status,
    headers: { "content-type": "text/html; charset=utf-8" },
    body: `<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error ${status} (${status === 404 ? "Not Found" : "Error"})!!1</title><p><b>${status}.</b> <ins>${message}</ins></html>`,
  };
}

function notFoundPage(): Answer {
  return errorPage(404, "That’s an error. The requested URL was not found on this server.");
}
