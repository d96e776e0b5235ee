// The Reddit source is being built: matcher, client and streams land here next.
export {};
