/** Inline SVG icons (24x24, stroked with currentColor). */
const icon = (body: string) =>
  `<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;

export const icons = {
  refresh: icon('<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/>'),
  close: icon('<path d="M6 6l12 12M18 6L6 18"/>'),
  minimise: icon('<path d="M6 12h12"/>'),
  check: icon('<path d="M5 12.5l4.5 4.5L19 7.5"/>'),
  phone: icon('<rect x="7" y="2.5" width="10" height="19" rx="2.5"/><path d="M11 18.5h2"/>'),
  denied: icon('<circle cx="12" cy="12" r="9"/><path d="M6 18L18 6"/>'),
  unplugged: icon(
    '<path d="M3 3l18 18"/><path d="M8.5 8.5A6 6 0 0 0 8 16h9"/><path d="M11 5.2A6 6 0 0 1 19 10a4 4 0 0 1 1.6 6.6"/>',
  ),
  alert: icon('<path d="M12 3l9.5 17h-19z"/><path d="M12 10v4M12 17.2v.1"/>'),
  server: icon(
    '<rect x="3" y="4" width="18" height="7" rx="1.5"/><rect x="3" y="13" width="18" height="7" rx="1.5"/><path d="M7 7.5h.01M7 16.5h.01"/>',
  ),
};

/** The app's mark: a QR corner and a check, as in build/appicon.png. */
export const logo = `<svg class="logo" viewBox="0 0 32 32" width="18" height="18" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#0fa968"/><rect x="6" y="6" width="20" height="20" rx="3" fill="#fff"/><rect x="8.5" y="8.5" width="6" height="6" fill="#0b5e3a"/><rect x="17.5" y="8.5" width="6" height="6" fill="#0b5e3a"/><rect x="8.5" y="17.5" width="6" height="6" fill="#0b5e3a"/><path d="M17.5 21l2 2 4-4.5" stroke="#0fa968" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
