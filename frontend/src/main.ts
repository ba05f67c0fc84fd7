import "./style.css";
import { mountApp } from "./app";
import { wails } from "./bridge";

const root = document.getElementById("app");
if (root) mountApp(root, wails);
