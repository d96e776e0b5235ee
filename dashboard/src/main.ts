import { mount } from "svelte";
import "./styles.css";
// Imported for its effect before the first render: sets data-theme on <html> (no flash of the wrong theme).
import "./lib/theme.svelte.js";
import App from "./App.svelte";

mount(App, { target: document.getElementById("app")! });
