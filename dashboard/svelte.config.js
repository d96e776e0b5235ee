// Read by the Vite plugin, svelte-check and the root vitest config: runes mode
// everywhere, so a component written in the legacy syntax fails to compile.
export default {
  compilerOptions: { runes: true },
};
