// The beat player: one shared <audio> for the page (so one beat plays at a time), a play/pause button per
// beat, a waveform drawn from the beat's peaks that seeks on click, drag-free keyboard seeking (arrow keys,
// Page Up/Down, Home/End) and the time shown. Previews are served with byte ranges, so seeking is instant.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var players = Array.prototype.slice.call(document.querySelectorAll("[data-player]"));
  if (!players.length) return;

  var audio = document.createElement("audio");
  audio.preload = "none";
  audio.className = "player-audio";
  audio.setAttribute("data-player-audio", "");
  document.body.appendChild(audio);
  var current = null; // the player whose beat is loaded in `audio`
  var pendingSeek = null;

  function clock(seconds) {
    var whole = Math.max(0, Math.round(seconds || 0));
    var rest = whole % 60;
    return Math.floor(whole / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function durationOf(player) {
    if (player === current && isFinite(audio.duration) && audio.duration > 0) return audio.duration;
    return parseFloat(player.dataset.duration) || 0;
  }

  function draw(player) {
    var wave = player.querySelector("[data-player-wave]");
    var peaks = (player.dataset.peaks || "").split(",").map(parseFloat).filter(function (v) { return !isNaN(v); });
    if (!peaks.length) peaks = [0.3];
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + peaks.length + " 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    peaks.forEach(function (peak, i) {
      var height = Math.max(4, peak * 96);
      var bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", i + 0.15);
      bar.setAttribute("width", 0.7);
      bar.setAttribute("y", (100 - height) / 2);
      bar.setAttribute("height", height);
      svg.appendChild(bar);
    });
    wave.appendChild(svg);
    player._bars = svg.childNodes;
    player._played = -1;
  }

  function paint(player, seconds) {
    var total = durationOf(player);
    var fraction = total ? Math.min(1, seconds / total) : 0;
    var played = Math.round(fraction * player._bars.length);
    if (played !== player._played) {
      for (var i = 0; i < player._bars.length; i++) {
        player._bars[i].setAttribute("class", i < played ? "played" : "");
      }
      player._played = played;
    }
    var wave = player.querySelector("[data-player-wave]");
    wave.setAttribute("aria-valuenow", Math.round(seconds));
    wave.setAttribute("aria-valuemax", Math.round(total));
    wave.setAttribute("aria-valuetext", clock(seconds) + " of " + clock(total));
    player.querySelector("[data-player-current]").textContent = clock(seconds);
  }

  function setPlaying(player, playing) {
    var button = player.querySelector("[data-player-toggle]");
    button.setAttribute("aria-pressed", playing ? "true" : "false");
    button.setAttribute("aria-label", (playing ? "Pause" : "Play") + " the preview of " + player.dataset.title);
    player.classList.toggle("is-playing", playing);
  }

  function load(player) {
    if (current === player) return;
    if (current) {
      setPlaying(current, false);
      paint(current, 0);
    }
    current = player;
    audio.src = player.dataset.src;
    audio.load();
  }

  function play(player) {
    load(player);
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function () { setPlaying(player, false); });
    }
  }

  function seek(player, seconds) {
    var total = durationOf(player);
    seconds = Math.max(0, total ? Math.min(seconds, total - 0.05) : seconds);
    if (current !== player) {
      load(player);
      pendingSeek = seconds;
      audio.play();
    } else if (audio.readyState >= 1) {
      audio.currentTime = seconds;
    } else {
      pendingSeek = seconds;
    }
    paint(player, seconds);
  }

  audio.addEventListener("loadedmetadata", function () {
    if (pendingSeek !== null) {
      audio.currentTime = pendingSeek;
      pendingSeek = null;
    }
  });
  audio.addEventListener("play", function () { if (current) setPlaying(current, true); });
  audio.addEventListener("pause", function () { if (current) setPlaying(current, false); });
  audio.addEventListener("ended", function () { if (current) { setPlaying(current, false); paint(current, 0); } });
  audio.addEventListener("timeupdate", function () { if (current) paint(current, audio.currentTime); });

  players.forEach(function (player) {
    draw(player);
    paint(player, 0);
    player.querySelector("[data-player-toggle]").addEventListener("click", function () {
      if (current === player && !audio.paused) audio.pause();
      else play(player);
    });
    var wave = player.querySelector("[data-player-wave]");
    wave.addEventListener("click", function (event) {
      var box = wave.getBoundingClientRect();
      seek(player, ((event.clientX - box.left) / box.width) * durationOf(player));
    });
    wave.addEventListener("keydown", function (event) {
      var now = current === player ? audio.currentTime : 0;
      var total = durationOf(player);
      var moves = { ArrowRight: now + 5, ArrowUp: now + 5, ArrowLeft: now - 5, ArrowDown: now - 5,
        PageUp: now + 15, PageDown: now - 15, Home: 0, End: total - 1 };
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        player.querySelector("[data-player-toggle]").click();
      } else if (event.key in moves) {
        event.preventDefault();
        seek(player, moves[event.key]);
      }
    });
  });
})();
